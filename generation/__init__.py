"""Prompt -> image: backends behind one interface, prompt rules, and the job runner.

Knows nothing of ActivityPub or HTTP routes; imports only ``storage``. The exception tree is in
:mod:`generation.errors`.
"""
