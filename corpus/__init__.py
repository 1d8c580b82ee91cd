"""The generated task corpus: seed programs, AST mutation operators, the generator, its verifier,
the train/validation/test splits and the importer of outside task files (see ``corpus/README.md``)."""
