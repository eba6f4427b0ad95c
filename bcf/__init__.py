"""The `bcf` command line (`bcf.cli:app`), at the top of the import graph.

It drives everything else (the services, migrations, the generator, the loader, Dagster, the
write API), so it lives in a package of its own: in `core` it would import the packages
that import `core`.
"""
