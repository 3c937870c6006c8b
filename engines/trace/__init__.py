"""Traceability (追溯): forward and backward walks over the lot genealogy, with what a recall needs."""
