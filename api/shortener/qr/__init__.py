"""QR codes: a link's short URL as an SVG or PNG image, for printing or a phone camera."""
