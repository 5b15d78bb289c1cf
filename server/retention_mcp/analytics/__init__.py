"""Churn analytics on the customer's own data: loading (DuckDB), metrics, survival and retention models, charts.

numpy, scipy, DuckDB and matplotlib are imported inside these modules, which the server imports only when an
analysis is asked for.
"""
