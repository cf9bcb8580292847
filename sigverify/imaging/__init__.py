"""OpenCV only: safe decoding, preprocessing, finding the signature on a page."""
