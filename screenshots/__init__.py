"""`make screenshots`: SVG and PNG pictures of the key screens, for README."""
