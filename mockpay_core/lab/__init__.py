"""What the notebooks call: each function here is tested, so the notebooks stay thin.

- ``runs``: load a scenario file with changes, play it, summarise it;
- ``diagram``: the state machine laid out from the transition table;
- ``idempotency``: a storm of concurrent retries with the idempotency layer on or off;
- ``fraud``: labelled traffic replayed against candidate rules, scored;
- ``fraud_seeds``: a velocity threshold swept over seeds, mean cost with 95 % intervals;
- ``webhooks``: attempts, latency and dead-letter depth of a run, and replaying its DLQ;
- ``audit``: an attacker's tools against the audit log (for the tampering notebook);
- ``signatures``: a timing attack on a signature check, on a simulated receiver clock;
- ``check``: the "Try this" checks (right or not yet, and why);
- ``show``: Markdown and Mermaid that display rendered;
- ``scale``: a lean bulk run of many payments, timing queries, comparing answers;
- ``failures``: what a crash, a lost answer, a killed worker and a flapping receiver left;
- ``money``: authorize and capture, expiry, disputes and minor units on fresh engines.
"""
