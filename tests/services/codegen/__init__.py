"""Tests of the codegen service: spec, analyst, template engine and generated projects."""
