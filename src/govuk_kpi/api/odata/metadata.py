"""CSDL of the entity model, as XML (OData 4.0) and as JSON (`$format=json`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from lxml import etree

from govuk_kpi.api.odata.model import CONTAINER, NAMESPACE, entity_sets

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
# The instance annotation on every answer: whether its usage figures are generated sample data.
GENERATED_TERM = "GeneratedData"
GENERATED_ANNOTATION = f"@{NAMESPACE}.{GENERATED_TERM}"
_GENERATED_DESCRIPTION = (
    "True when the warehouse's usage figures (page views, feedback) are, at least in part,"
    " generated sample data rather than GOV.UK's own; every answer carries it."
)


@cache
def csdl_xml() -> bytes:
    """The $metadata document in CSDL XML."""
    sets = entity_sets()
    root = etree.Element(f"{{{EDMX}}}Edmx", nsmap={"edmx": EDMX}, Version="4.0")
    services = etree.SubElement(root, f"{{{EDMX}}}DataServices")
    schema = etree.SubElement(services, f"{{{EDM}}}Schema", nsmap={None: EDM}, Namespace=NAMESPACE)
    for entity in sets.values():
        kind = etree.SubElement(schema, f"{{{EDM}}}EntityType", Name=entity.type_name)
        key = etree.SubElement(kind, f"{{{EDM}}}Key")
        for name in entity.keys:
            etree.SubElement(key, f"{{{EDM}}}PropertyRef", Name=name)
        for prop in entity.props:
            etree.SubElement(
                kind,
                f"{{{EDM}}}Property",
                Name=prop.name,
                Type=prop.edm,
                Nullable="true" if prop.nullable else "false",
            )
        for nav in entity.navs:
            target = sets[nav.target]
            element = etree.SubElement(
                kind,
                f"{{{EDM}}}NavigationProperty",
                Name=nav.name,
                Type=target.qualified_type,
                Nullable="true" if nav.nullable else "false",
            )
            etree.SubElement(
                element,
                f"{{{EDM}}}ReferentialConstraint",
                Property=nav.local,
                ReferencedProperty=target.keys[0],
            )
        if entity.description:
            note = etree.SubElement(kind, f"{{{EDM}}}Annotation", Term="Core.Description")
            note.set("String", entity.description)
    term = etree.SubElement(schema, f"{{{EDM}}}Term", Name=GENERATED_TERM, Type="Edm.Boolean")
    note = etree.SubElement(term, f"{{{EDM}}}Annotation", Term="Core.Description")
    note.set("String", _GENERATED_DESCRIPTION)
    container = etree.SubElement(schema, f"{{{EDM}}}EntityContainer", Name=CONTAINER)
    for entity in sets.values():
        element = etree.SubElement(
            container,
            f"{{{EDM}}}EntitySet",
            Name=entity.name,
            EntityType=entity.qualified_type,
        )
        for nav in entity.navs:
            etree.SubElement(
                element, f"{{{EDM}}}NavigationPropertyBinding", Path=nav.name, Target=nav.target
            )
    # Core vocabulary for the descriptions.
    reference = etree.Element(
        f"{{{EDMX}}}Reference",
        Uri="https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml",
    )
    etree.SubElement(reference, f"{{{EDMX}}}Include", Namespace="Org.OData.Core.V1", Alias="Core")
    root.insert(0, reference)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


@cache
def csdl_json() -> dict[str, Any]:
    """The $metadata document in CSDL JSON."""
    sets = entity_sets()
    schema: dict[str, Any] = {}
    for entity in sets.values():
        kind: dict[str, Any] = {"$Kind": "EntityType", "$Key": list(entity.keys)}
        for prop in entity.props:
            entry: dict[str, Any] = {}
            if prop.edm != "Edm.String":
                entry["$Type"] = prop.edm
            entry["$Nullable"] = prop.nullable
            kind[prop.name] = entry
        for nav in entity.navs:
            target = sets[nav.target]
            kind[nav.name] = {
                "$Kind": "NavigationProperty",
                "$Type": target.qualified_type,
                "$Nullable": nav.nullable,
                "$ReferentialConstraint": {nav.local: target.keys[0]},
            }
        if entity.description:
            kind["@Core.Description"] = entity.description
        schema[entity.type_name] = kind
    schema[GENERATED_TERM] = {
        "$Kind": "Term",
        "$Type": "Edm.Boolean",
        "@Core.Description": _GENERATED_DESCRIPTION,
    }
    container: dict[str, Any] = {"$Kind": "EntityContainer"}
    for entity in sets.values():
        entry = {"$Collection": True, "$Type": entity.qualified_type}
        if entity.navs:
            entry["$NavigationPropertyBinding"] = {n.name: n.target for n in entity.navs}
        container[entity.name] = entry
    schema[CONTAINER] = container
    return {
        "$Version": "4.0",
        "$EntityContainer": f"{NAMESPACE}.{CONTAINER}",
        "$Reference": {
            "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.json": {
                "$Include": [{"$Namespace": "Org.OData.Core.V1", "$Alias": "Core"}]
            }
        },
        NAMESPACE: schema,
    }
