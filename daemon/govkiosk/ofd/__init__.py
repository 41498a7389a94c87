"""OFD documents (GB/T 33190-2016): reading the package, checking what each signature
protects, and rendering pages for the preview and the A4 printer."""
