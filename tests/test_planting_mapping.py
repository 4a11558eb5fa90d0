"""Mapping files: parse errors and every misfit with the target's schema name the table and column."""
import re

import pytest
from labdb import EXAMPLES, MAPPING

from canary.planting.mapping import MappingError, check_mapping, load_mapping, validate_mapping
from canary.planting.sqlite import SqliteTarget


@pytest.fixture(scope="module")
def schema():
    target = SqliteTarget.from_script((EXAMPLES / "lab_schema.sql").read_text())
    yield target.schema()
    target.close()


def mapping_with(tmp_path, old, new):
    text = MAPPING.read_text()
    assert old in text
    path = tmp_path / "mapping.toml"
    path.write_text(text.replace(old, new, 1))
    return load_mapping(path)


def test_the_shipped_mapping_fits_the_shipped_schema(schema):
    mapping = load_mapping(MAPPING)
    assert check_mapping(mapping, schema) == []
    assert [e.name for e in mapping.entries] == ["patient", "adresse", "phone", "email", "dossier", "resultat"]
    assert mapping.entry("resultat").parent == "dossier" and mapping.entry("dossier").count == (1, 3)


@pytest.mark.parametrize("old, new, message", [
    ('name = "adresse"', 'name = "adresses"', "table adresses is not in the target"),
    ('ligne1 = { field', 'ligne_1 = { field', "adresse.ligne_1: no such column in the target"),
    ('ligne1 = { field = "address.line1" }\n', '', "adresse.ligne1 is NOT NULL and the mapping gives it no value"),
    ('patient_id = { ref = "patient" }\nligne1', 'patient_id = { moment = true }\nligne1',
     "adresse.patient_id references patient.id: fill it with ref"),
    ('medecin_traitant_id = { pick = "medecin.id", nulls = "host" }',
     'medecin_traitant_id = { find = "medecin.id", where = { ville = "BREST" } }\nx = { field = "nir", when = "maiden" }',
     "patient.x: when/unless names 'maiden', not a canary field"),
    ('medecin_traitant_id = { pick = "medecin.id", nulls = "host" }',
     'medecin_traitant_id = { find = "medecin.id", where = { town = "BREST" } }',
     "patient.medecin_traitant_id: where = { town = ... }: medecin has no column town"),
    ('prescripteur_id = { pick = "medecin.id" }', 'prescripteur_id = { pick = "patient.id" }',
     "dossier.prescripteur_id references medecin.id but picks patient.id"),
    ('dossier_id = { ref = "dossier" }', 'dossier_id = { ref = "patient" }',
     "resultat.dossier_id references dossier.id but ref = 'patient' writes table patient"),
])
def test_misfits_name_table_and_column(tmp_path, schema, old, new, message):
    mapping = mapping_with(tmp_path, old, new)
    with pytest.raises(MappingError, match="mapping .*mapping.toml: " + message.replace(".", r"\.")
                       .replace("(", r"\(").replace(")", r"\)")):
        validate_mapping(mapping, schema)


@pytest.mark.parametrize("old, new, message", [
    ('patient_id = { ref = "patient" }\nligne1', 'patient_id = { ref = "dossier" }\nligne1',
     "adresse.patient_id: ref = 'dossier' names no earlier"),
    ('nir = { field = "nir" }', 'nir = { field = "nir", value = "x" }', "patient.nir: give exactly one of"),
    ('nir = { field = "nir" }', 'nir = { field = "nir", colour = "red" }', "patient.nir: unknown key"),
    ('ipp = { generate = "pattern" }', 'ipp = { generate = "guid" }', "patient.ipp: generate must be one of"),
    ('count = [1, 4]', 'count = [4, 1]', "table resultat: count must be"),
    ('[[table]]\nname = "adresse"', '[[table]]\nname = "adresse"\ncolor = 1', "table adresse: unknown key"),
    ('sample_rows = 1000', 'sample_rows = 1000\n[oops', "line"),
    ('clock = "host"', 'clock = "tomorrow"', "clock must be"),
])
def test_malformed_mappings_are_refused_on_load(tmp_path, old, new, message):
    with pytest.raises(MappingError, match=message.replace(".", r"\.").replace("(", r"\(")):
        mapping_with(tmp_path, old, new)


def test_a_missing_mapping_file_is_one_clear_error(tmp_path):
    with pytest.raises(MappingError, match="nope.toml: cannot read it"):
        load_mapping(tmp_path / "nope.toml")


@pytest.mark.parametrize("old, new, message", [
    ('ligne2 = { field = "address.line2" }', 'ligne2 = { same = "person.uuid" }',
     "same = 'person.uuid' names no earlier [[table]]"),
    ('ligne2 = { field = "address.line2" }', 'ligne2 = { find = "medecin.id" }',
     "needs where = { column = value }"),
    ('ligne2 = { field = "address.line2" }', 'ligne2 = { generate = "uuid", format = "shouty" }',
     "a uuid's format is one of lower, upper, hex, braces"),
    ('ligne2 = { field = "address.line2" }', 'ligne2 = { field = "address.line2", sequence = "s" }',
     "sequence = \"NAME\" goes with generate = \"sequence\""),
    ('ligne2 = { field = "address.line2" }', 'ligne2 = { field = "address.line2", when = 3 }',
     "when names a canary field"),
    ('clock = "host"', 'clock = "yesterday"', "clock must be \"host\""),
])
def test_new_constructs_refuse_mistakes_naming_table_column_and_what_to_write(tmp_path, old, new, message):
    with pytest.raises(MappingError, match=re.escape(message)) as error:
        mapping_with(tmp_path, old, new)
    assert "mapping " in str(error.value)


def test_derived_lis_fields_are_canary_fields():
    from canary.planting.fields import canary_fields, field_values
    assert {"address.department_name", "civility", "nir_key", "nir_base", "address.street_number"} <= set(
        canary_fields())
    values = field_values({"sex": "F", "nir": "292063155596624", "birth_date": "1992-06-18",
                           "address": {"line1": "18 bis rue de la Paix", "department": "35"}})
    assert (values["civility"], values["nir_key"], values["address.department_name"]) == ("Mme", "24",
                                                                                         "Ille-et-Vilaine")
    assert (values["address.street_number"], values["address.street"]) == ("18 bis", "rue de la Paix")
