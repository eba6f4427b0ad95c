"""The platform core, beneath everything else: settings (`settings`), the database (`db`:
schema, engine, roles and access, BI logins, migrations runner, TimescaleDB), the private local
PostgreSQL and Redis services (`services`), the reporting calendar's holidays
(`reporting_calendar`) and the digest that tells whether something must be made again
(`fingerprint`). It imports no other package of the project.
"""
