"""Never silent: bounces, delay warnings and the notify hook the flusher sends."""
