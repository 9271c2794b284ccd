"""Protocol negotiation with redshift_connector: the gateway keeps the driver on protocol 0 (text).

redshift_connector's core.py: the startup message carries ``client_protocol_version`` (2, BINARY, by
default); unless the server answers with a ``server_protocol_version`` ParameterStatus of that value, the
driver falls back to 0 (BASE_SERVER). The gateway does not answer it, because PostgreSQL's messages are not
what the driver decodes from 1 on (README, "Limits of the double"); these tests pin that decision and show
the text protocol decodes Redshift's types to the values the driver's users get from Redshift.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("asked", [None, 1, 2])
def test_driver_falls_back_to_protocol_0(local_redshift, asked):
    """core.py: no server_protocol_version in the ParameterStatus messages means BASE_SERVER (0)."""
    import redshift_connector

    extra = {} if asked is None else {"client_protocol_version": asked}
    conn = redshift_connector.connect(**local_redshift.connect_kwargs(), **extra)
    try:
        names = [name for name, _ in conn.parameter_statuses]
        assert b"server_protocol_version" not in names
        assert b"server_version" in names
        assert conn._client_protocol_version == 0
    finally:
        conn.close()


def test_text_protocol_decodes_numeric_date_time_and_arrays(redshift_connection):
    """The types protocol 2 would send in binary (NUMERIC, DATE, TIME, TIMETZ, arrays) arrive as their values
    in protocol 0, computed numerics without a declared scale included."""
    cur = redshift_connection.cursor()
    cur.execute(
        "select 1234.50::numeric(12,2), sum(x), '2026-11-23'::date, '13:45:30.25'::time, "
        "'13:45:30+02'::timetz, array[1, 2, 3] from (select 0.125::numeric(6,3) as x union all select 2) t"
    )
    row = cur.fetchone()
    assert row[0] == Decimal("1234.50")
    assert row[1] == Decimal("2.125")
    assert row[2] == datetime.date(2026, 11, 23)
    assert row[3] == datetime.time(13, 45, 30, 250000)
    assert row[4] == datetime.time(11, 45, 30, tzinfo=datetime.timezone.utc)
    assert row[5] == [1, 2, 3]
    redshift_connection.rollback()
