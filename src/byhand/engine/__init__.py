"""The exact engine: values, tensors, the op registry, the graph and the solver."""
