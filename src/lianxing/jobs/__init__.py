"""Background jobs: one set of job functions, run by the embedded runner (``lianxing serve``)
or by Dramatiq workers on Redis/RabbitMQ (``lianxing worker`` with ``LIANXING_QUEUE_URL``).

``submit`` records a job (once per idempotency key) and hands it to whichever runs jobs here;
``execute`` runs a recorded job at most to one completion, however often it is delivered.
"""
