"""MaskGIT-Edit: stroke-guided image editing with MaskGIT."""
