"""Input/output: manifests, images, feature tables, atomic writes."""
