"""The line labeller model (body.crfsuite) and its metadata (body.json), built by make train."""
