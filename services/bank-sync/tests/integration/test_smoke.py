from pathlib import Path

from caisse_bank_sync import synthetic

from .helpers import SERVICE_DIR, Harness


async def test_first_load(pg, tmp_path: Path) -> None:
    url = await pg.migrated_database(SERVICE_DIR)
    synthetic.generate("T24", tmp_path / "T24", customers=50, loans=80, seed=1)
    h = Harness(url, tmp_path)
    job, result = await h.sync()
    print(job)
    assert job["status"] == "COMPLETED", job
