"""Side effects of novaflow: every activity the workflows call lives under here."""
