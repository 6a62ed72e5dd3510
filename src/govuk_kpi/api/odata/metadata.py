"""CSDL of the entity model, as XML (OData 4.0) and as JSON (`$format=json`).

Besides the types and sets, it says what `$apply` does (Data Aggregation 4.0): each entity set
is annotated `Aggregation.ApplySupported` (filter, groupby, aggregate; no rollup), and each
derived metric of the registry is an `Aggregation.CustomAggregate` of the entity types that
carry it, named after its property and of its type.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from lxml import etree

from govuk_kpi.api.odata.model import CONTAINER, NAMESPACE, EntitySet, entity_sets

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
_VOCABULARIES = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/"
# The vocabularies the document uses (namespace, alias).
_VOCABULARY_ALIASES = (("Org.OData.Core.V1", "Core"), ("Org.OData.Aggregation.V1", "Aggregation"))
# The transformations `$apply` compiles (api.odata.apply); any other is refused.
APPLY_TRANSFORMATIONS = ("filter", "groupby", "aggregate")
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
    schema = etree.SubElement(
        services,
        f"{{{EDM}}}Schema",
        nsmap={None: EDM},  # type: ignore[dict-item]  # lxml-stubs: None (the default namespace) is a valid prefix
        Namespace=NAMESPACE,
    )
    for entity in sets.values():
        _xml_entity_type(schema, entity, sets)
    term = _edm(schema, "Term", Name=GENERATED_TERM, Type="Edm.Boolean")
    _xml_description(term, _GENERATED_DESCRIPTION)
    container = _edm(schema, "EntityContainer", Name=CONTAINER)
    for entity in sets.values():
        _xml_entity_set(container, entity)
    # The vocabularies: Core for the descriptions, Aggregation for what $apply does.
    for position, (namespace, alias) in enumerate(_VOCABULARY_ALIASES):
        reference = etree.Element(f"{{{EDMX}}}Reference", Uri=f"{_VOCABULARIES}{namespace}.xml")
        etree.SubElement(reference, f"{{{EDMX}}}Include", Namespace=namespace, Alias=alias)
        root.insert(position, reference)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _edm(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    """A CSDL element `tag` in `parent`, its attributes in the order given."""
    return etree.SubElement(parent, f"{{{EDM}}}{tag}", **cast("dict[str, Any]", attributes))


def _xml_boolean(value: bool) -> str:
    return "true" if value else "false"


def _xml_description(parent: etree._Element, text: str) -> None:
    note = _edm(parent, "Annotation", Term="Core.Description")
    note.set("String", text)


def _xml_entity_type(schema: etree._Element, entity: EntitySet, sets: dict[str, EntitySet]) -> None:
    """An EntityType: its key, properties, navigation properties and annotations."""
    kind = _edm(schema, "EntityType", Name=entity.type_name)
    key = _edm(kind, "Key")
    for name in entity.keys:
        _edm(key, "PropertyRef", Name=name)
    for prop in entity.props:
        _edm(kind, "Property", Name=prop.name, Type=prop.edm, Nullable=_xml_boolean(prop.nullable))
    for nav in entity.navs:
        target = sets[nav.target]
        element = _edm(
            kind,
            "NavigationProperty",
            Name=nav.name,
            Type=target.qualified_type,
            Nullable=_xml_boolean(nav.nullable),
        )
        _edm(
            element, "ReferentialConstraint", Property=nav.local, ReferencedProperty=target.keys[0]
        )
    if entity.description:
        _xml_description(kind, entity.description)
    for name in entity.custom_aggregates:
        _edm(
            kind,
            "Annotation",
            Term="Aggregation.CustomAggregate",
            Qualifier=name,
            String=entity.by_name[name].edm,
        )


def _xml_entity_set(container: etree._Element, entity: EntitySet) -> None:
    """An EntitySet, its navigation bindings and what `$apply` does on it."""
    element = _edm(container, "EntitySet", Name=entity.name, EntityType=entity.qualified_type)
    for nav in entity.navs:
        _edm(element, "NavigationPropertyBinding", Path=nav.name, Target=nav.target)
    supported = _edm(element, "Annotation", Term="Aggregation.ApplySupported")
    record = _edm(supported, "Record")
    value = _edm(record, "PropertyValue", Property="Transformations")
    listed = _edm(value, "Collection")
    for name in APPLY_TRANSFORMATIONS:
        _edm(listed, "String").text = name
    _edm(record, "PropertyValue", Property="Rollup", EnumMember="Aggregation.RollupType/None")


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
        for name in entity.custom_aggregates:
            kind[f"@Aggregation.CustomAggregate#{name}"] = entity.by_name[name].edm
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
        entry["@Aggregation.ApplySupported"] = {
            "Transformations": list(APPLY_TRANSFORMATIONS),
            "Rollup": "None",
        }
        container[entity.name] = entry
    schema[CONTAINER] = container
    return {
        "$Version": "4.0",
        "$EntityContainer": f"{NAMESPACE}.{CONTAINER}",
        "$Reference": {
            f"{_VOCABULARIES}{namespace}.json": {
                "$Include": [{"$Namespace": namespace, "$Alias": alias}]
            }
            for namespace, alias in _VOCABULARY_ALIASES
        },
        NAMESPACE: schema,
    }
