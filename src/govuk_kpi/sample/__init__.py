"""The sample warehouse: real GOV.UK content and organisations, generated daily usage."""
