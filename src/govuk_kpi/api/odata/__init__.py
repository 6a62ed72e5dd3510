"""OData v4 at `/odata`: CSDL metadata, entity sets of the star schema, $filter, $apply."""
