//! Cross-crate test support. The tests themselves live in `tests/tests/`.
