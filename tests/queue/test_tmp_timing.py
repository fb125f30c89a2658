import time
from tests.support.queue_home import queue_home, server_at, SlowHandler  # noqa
from tests.queue.test_flush_backoff import MAIL, GREYLISTED

def test_timing(queue_home, server_at):
    queue_home.configure(max_age="2s", retry_first="1s", retry_max="1s")
    server = server_at(handler=SlowHandler(rcpt_replies=dict(GREYLISTED)))
    queue_home.account(server.port)
    t = time.monotonic()
    queue_home.sendmail(MAIL)
    t1 = time.monotonic()
    r = queue_home.smtpq("flush")
    t2 = time.monotonic()
    print("sendmail", t1 - t, "flush", t2 - t1, r.stderr)
    assert 0
