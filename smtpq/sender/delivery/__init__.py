"""The delivery engine shared by ``--send-now`` and the queue's flush worker.

* :class:`~.courier.Courier` — one account, one reused connection:
  ``deliver(mail, policy=…) -> DeliveryOutcome``, ``close()``;
* :func:`~.courier.deliver_once` — msmtp's run for one mail (whole-mail policy);
* :func:`~.pipeline.deliver_all` — many mails through a courier, pipelined across mails;
* :class:`~.courier.OutgoingMail` — envelope + streamed content;
* :class:`~.outcome.DeliveryOutcome`, :class:`~.outcome.RecipientOutcome`,
  :class:`~.outcome.RecipientStatus`, :class:`~.outcome.FailureKind`;
* :func:`~.report.write_log`, :func:`~.report.report` — msmtp's log and stderr.

Nothing is imported here, so importing one module stays cheap (the sendmail
entry path imports this package only when it sends).
"""
