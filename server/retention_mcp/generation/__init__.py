"""Plan generation: model backends, typed plan models, constraint reading and validation, the plan store.

Nothing here is imported when the server starts; the first plan-mode call pays for it.
"""
