"""The ``--help`` text: msmtp 1.8.23's, adapted to smtpq.

Differences from msmtp's text, on purpose:

* the default mode queues the mail; ``--send-now``, ``-q[ARG]`` and ``-bp``
  are listed;
* ``-F`` and ``-v`` are described as what they do (msmtp 1.8.23 lists them
  as "accepted but ignored", which is wrong: ``-F`` sets the full name of the
  generated From header and ``-v`` is ``--debug``);
* no bug-report address of msmtp's author.
"""

from __future__ import annotations

_USAGE = """\
Usage:

Sendmail mode (default):
  {prog} [option...] [--] recipient...
  {prog} [option...] -t [--] [recipient...]
  Read a mail from standard input and queue it for transmission to an SMTP
  or LMTP server (with --send-now: transmit it right away, like msmtp).
Queue modes:
  {prog} -q[argument]
  Transmit the queued mails that are due.
  {prog} -bp
  List the queued mails.
Configuration mode:
  {prog} --configure=mailadress
  Generate and print configuration for address.
Server information mode:
  {prog} [option...] --serverinfo
  Print information about a server.
Remote Message Queue Starting mode:
  {prog} [option...] --rmqs=host|@domain|#queue
  Send a Remote Message Queue Starting request to a server.

"""

_OPTIONS = """\
General options:
  --version                    print version
  --help                       print help
  -P, --pretend                print configuration info and exit
  -d, -v, --debug              print debugging information
Changing the mode of operation:
  --configure=mailaddress      generate and print configuration for address
  -S, --serverinfo             print information about the server
  --rmqs=host|@domain|#queue   send a Remote Message Queue Starting request
  --send-now                   transmit the mail now instead of queueing it
  -q[argument]                 transmit the queued mails that are due
  -bp                          list the queued mails
Configuration options:
  -C, --file=filename          set configuration file
  -a, --account=id             use the given account instead of the account
                               named "default"; its settings may be changed
                               with command-line options
  --host=hostname              set the server, use only command-line settings;
                               do not use any configuration file data
  --port=number                set port number
  --source-ip=[IP]             set/unset source ip address to bind the socket to
  --proxy-host=[IP|hostname]   set/unset proxy
  --proxy-port=[number]        set/unset proxy port
  --socket=[socketname]        set/unset local socket to connect to
  --timeout=(off|seconds)      set/unset network timeout in seconds
  --protocol=(smtp|lmtp)       use the given sub protocol
  --domain=string              set the argument of EHLO or LHLO command
  --auth[=(on|off|method)]     enable/disable authentication and optionally
                               choose the method
  --user=[username]            set/unset user name for authentication
  --passwordeval=[eval]        evaluate password for authentication
  --tls[=(on|off)]             enable/disable TLS encryption
  --tls-starttls[=(on|off)]    enable/disable STARTTLS for TLS
  --tls-trust-file=[file]      set/unset trust file for TLS
  --tls-crl-file=[file]        set/unset revocation file for TLS
  --tls-fingerprint=[f]        set/unset trusted certificate fingerprint for TLS
  --tls-certcheck[=(on|off)]   enable/disable server certificate checks for TLS
  --tls-key-file=[file]        set/unset private key file for TLS
  --tls-cert-file=[file]       set/unset private cert file for TLS
  --tls-priorities=[prios]     set/unset TLS priorities.
  --tls-host-override=[host]   set/unset override for TLS host verification.
  --tls-min-dh-prime-bits=[b]  set/unset minimum bit size of DH prime
Options specific to sendmail mode:
  --auto-from[=(on|off)]       enable/disable automatic envelope-from addresses
  -f, --from=address           set envelope from address
  -F name                      set the full name for the generated From header
  --maildomain=[domain]        set the domain for automatic envelope from
                               addresses
  -N, --dsn-notify=(off|cond)  set/unset DSN conditions
  -R, --dsn-return=(off|ret)   set/unset DSN amount
  -X, --logfile=[file]         set/unset log file
  --logfile-time-format=[fmt]  set/unset log file time format for strftime()
  --syslog[=(on|off|facility)] enable/disable/configure syslog logging
  -t, --read-recipients        read additional recipients from the mail
  --read-envelope-from         read envelope from address from the mail
  --aliases=[file]             set/unset aliases file
  --set-from-header[=(auto|on|off)] set From header handling
  --set-date-header[=(auto|off)] set Date header handling
  --set-msgid-header[=(auto|off)] set Message-ID header handling
  --remove-bcc-headers[=(on|off)] enable/disable removal of Bcc headers
  --undisclosed-recipients[=(on|off)] enable/disable replacement of To/Cc/Bcc
                               with To: undisclosed-recipients:;
  --                           end of options
Accepted but ignored: -A, -B, -bm, -G, -h, -i, -L, -m, -n, -O, -o
"""


def help_text(prog: str) -> str:
    """The full ``--help`` output for a program invoked as *prog* (argv[0]'s basename)."""
    return _USAGE.format(prog=prog) + _OPTIONS
