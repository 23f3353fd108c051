"""FHIR R4 read and search under /fhir/R4/ (issue 17), built with fhir.resources."""
