"""Storage: models, migrations and the repositories the pipeline and the faces use."""
