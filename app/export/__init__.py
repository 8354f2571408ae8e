"""The model as a standalone NumPy program: the reference's own source (`source`), a
`forward(inputs, weights)` written out layer by layer (`program`), and the folder and zip
that carry it with the weights, the check's inputs and Keras' outputs (`bundle`)."""
