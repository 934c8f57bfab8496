"""The filter scheduler: host states, filters, weighers, selection and claims."""
