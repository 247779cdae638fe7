"""LDAP / Active Directory sign-in against a real OpenLDAP slapd started here."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import ldap3
import pytest
from caisse_auth.services.bootstrap import create_admin
from caisse_shared.infra import free_port, wait_for_port
from caisse_shared.testing.system import require_system_binary

BASE = "dc=caisse,dc=test"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PW = "slapd-test-secret"
PEOPLE, GROUPS = f"ou=people,{BASE}", f"ou=groups,{BASE}"

pytestmark = pytest.mark.integration

CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{admin}"
rootpw {pw}
directory {dir}/db
"""


def _seed(url: str) -> None:
    conn = ldap3.Connection(ldap3.Server(url), ADMIN_DN, ADMIN_PW, auto_bind=True)
    conn.add(BASE, ["dcObject", "organization"], {"o": "Caisse test", "dc": "caisse"})
    conn.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
    conn.add(GROUPS, ["organizationalUnit"], {"ou": "groups"})
    for uid, name in (("kofi", "Kofi Mensah"), ("lone", "Lone Wolf"), ("ama", "Ama Owusu")):
        conn.add(
            f"uid={uid},{PEOPLE}",
            ["inetOrgPerson"],
            {
                "cn": name,
                "sn": name.split()[-1],
                "mail": f"{uid}@sfd.test",
                "userPassword": f"{uid.title()}-Ldap-Pw1",
            },
        )
    conn.add(
        f"cn=SFD-Agents,{GROUPS}", ["groupOfNames"], {"member": [f"uid=kofi,{PEOPLE}", f"uid=ama,{PEOPLE}"]}
    )
    conn.add(f"cn=Finance,{GROUPS}", ["groupOfNames"], {"member": [f"uid=kofi,{PEOPLE}"]})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()


@pytest.fixture(scope="module")
def slapd() -> Iterator[str]:
    """A throw-away slapd on a free port, seeded with people and groups."""
    binary = require_system_binary(
        "slapd",
        paths=("/usr/sbin/slapd",),
        install="make system-deps, or apt-get install -y slapd ldap-utils",
    )
    tmp = Path(tempfile.mkdtemp(prefix="caisse-slapd-"))
    (tmp / "db").mkdir()
    (tmp / "slapd.conf").write_text(CONF.format(dir=tmp, base=BASE, admin=ADMIN_DN, pw=ADMIN_PW))
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, "-f", str(tmp / "slapd.conf"), "-h", f"{url}/", "-d", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=10)
        _seed(url)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def _ldap_settings(url: str) -> dict[str, Any]:
    return {
        "ldap_enabled": True,
        "ldap_url": url,
        "ldap_bind_dn": ADMIN_DN,
        "ldap_bind_password": ADMIN_PW,
        "ldap_user_base_dn": PEOPLE,
        "ldap_group_base_dn": GROUPS,
        "ldap_group_role_map": {"SFD-Agents": ["sfd_agent"], f"cn=Finance,{GROUPS}": ["finance"]},
    }


@pytest.fixture(scope="module")
async def ldap_api(slapd: str, settings_for: Any, api_for: Any) -> AsyncIterator[Any]:
    """The auth app with the LDAP provider on, and a local administrator."""
    async with api_for(await settings_for(**_ldap_settings(slapd))) as api:
        kit = api.app.state.kit
        async with kit.database.unit_of_work() as session:
            await create_admin(kit, session, "root", "Adm1n-Passw0rd!")
        yield api


async def _login(api: Any, username: str, password: str) -> Any:
    return await api.client.post("/api/auth/login", json={"username": username, "password": password})


async def test_directory_user_signs_in_and_is_synced(ldap_api: Any) -> None:
    r = await _login(ldap_api, "kofi", "Kofi-Ldap-Pw1")
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["source"] == "ldap"
    assert user["email"] == "kofi@sfd.test"
    assert user["full_name"] == "Kofi Mensah"
    assert sorted(user["roles"]) == ["finance", "sfd_agent"]
    claims = (
        await ldap_api.client.post("/api/auth/token/validate", json={"token": r.json()["token"]})
    ).json()
    assert "movements:request:validate" in claims["permissions"]


async def test_wrong_directory_password_is_the_usual_401(ldap_api: Any) -> None:
    r = await _login(ldap_api, "kofi", "Wrong-Ldap-Pw1")
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"
    r = await _login(ldap_api, "nobody", "Wrong-Ldap-Pw1")
    assert r.status_code == 401


async def test_user_without_mapped_group_is_refused_and_audited(ldap_api: Any) -> None:
    r = await _login(ldap_api, "lone", "Lone-Ldap-Pw1")
    assert r.status_code == 401
    admin = await ldap_api.headers_for("root", "Adm1n-Passw0rd!")
    rows = (await ldap_api.client.get("/api/audit", headers=admin, params={"username": "lone"})).json()
    assert rows[0]["reason"] == "no_role_mapped"


async def test_group_change_resyncs_roles_at_next_login(ldap_api: Any, slapd: str) -> None:
    first = (await _login(ldap_api, "ama", "Ama-Ldap-Pw1")).json()
    assert first["user"]["roles"] == ["sfd_agent"]
    conn = ldap3.Connection(ldap3.Server(slapd), ADMIN_DN, ADMIN_PW, auto_bind=True)
    conn.modify(f"cn=Finance,{GROUPS}", {"member": [(ldap3.MODIFY_ADD, [f"uid=ama,{PEOPLE}"])]})
    conn.modify(f"cn=SFD-Agents,{GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [f"uid=ama,{PEOPLE}"])]})
    conn.unbind()
    second = (await _login(ldap_api, "ama", "Ama-Ldap-Pw1")).json()
    assert second["user"]["roles"] == ["finance"]
    assert second["user"]["id"] == first["user"]["id"]


@pytest.mark.parametrize("username", ["*", "kofi)(uid=*", "*)(|(objectClass=*)", "k*"])
async def test_filter_injection_does_not_match(ldap_api: Any, username: str) -> None:
    r = await _login(ldap_api, username, "Kofi-Ldap-Pw1")
    assert r.status_code == 401


async def test_local_accounts_still_work_with_the_directory_on(ldap_api: Any) -> None:
    assert (await _login(ldap_api, "root", "Adm1n-Passw0rd!")).status_code == 200


async def test_directory_down_is_401_not_500(settings_for: Any, api_for: Any) -> None:
    settings = await settings_for(**_ldap_settings(f"ldap://127.0.0.1:{free_port()}"), ldap_timeout_s=1.0)
    async with api_for(settings) as api:
        r = await _login(api, "kofi", "Kofi-Ldap-Pw1")
        assert r.status_code == 401
