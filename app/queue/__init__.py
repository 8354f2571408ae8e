"""Checks on a job queue shared by replicas: procrastinate, on the same PostgreSQL as the
reports, so PostgreSQL is the only component to run (reasons in ../shared/DESIGN.md).

An API replica writes each check's ticket into the shared folder (`ticket.py`) and defers its
job in the transaction that stores the report (`submit.py`); `keras-explainer worker`
processes on any host take the jobs (`tasks.py`) and run each check as one machine does
(app.check.runner: today's single-use sandboxed Keras process), writing through an attempt
fence (`fence.py`).
"""
