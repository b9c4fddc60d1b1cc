"""Values in the services' config files that look like numbers but are text:
YAML reads an unquoted 0254200000 as an octal integer (45154304)."""

import pytest
from marshmallow import ValidationError

from deploy.registry import load_config
from services.printing.schemas import ClaimSchema


def test_the_pos_sender_phone_and_zip_stay_text(monkeypatch):
    monkeypatch.delenv("POS_SENDER_PHONE", raising=False)
    monkeypatch.delenv("POS_SENDER_ZIP", raising=False)
    config = load_config("courier")
    assert (config["POS_SENDER_PHONE"], config["POS_SENDER_ZIP"]) == ("0254200000", "42118")
    monkeypatch.setenv("POS_SENDER_PHONE", "0812345678")
    assert load_config("courier")["POS_SENDER_PHONE"] == "0812345678"


@pytest.mark.parametrize("given", ["5", 5.0, True])
def test_a_claims_max_is_a_json_integer(given):
    with pytest.raises(ValidationError) as refused:
        ClaimSchema().load({"max": given})
    assert "max" in refused.value.messages
    assert ClaimSchema().load({"max": 5})["max"] == 5
