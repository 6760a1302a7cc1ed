"""The `serve:` section of the config: checked with file:line like the rest,
never showing the token; applied into the database, where `pager serve`
reads it."""

from __future__ import annotations

import pytest

from serve_kit import start


def _validate(cli, tmp_path, text: str, env: dict | None = None):  # noqa: ANN001, ANN202
    path = tmp_path / "c.yaml"
    path.write_text("services:\n  web: {}\n" + text)
    return cli("schedules", "validate", path, env=env), path


def test_problems_name_the_line_and_never_the_token(cli, tmp_path):
    r, path = _validate(cli, tmp_path, "serve:\n  listen: localhost\n  token: short-s3cr3t\n"
                                       "  public_url: ftp://x\n  tokn: 1\n")
    assert r.code == 2
    assert f"{path}:4: serve.listen: " in r.err and "HOST:PORT" in r.err
    assert f"{path}:5: serve.token: token must have at least 16 characters" in r.err
    assert f"{path}:6: serve.public_url: bad public_url" in r.err
    assert f"{path}:7: serve.tokn: unknown key (did you mean 'token'?)" in r.err
    assert "short-s3cr3t" not in r.err + r.out


def test_beyond_loopback_the_config_needs_a_token(cli, tmp_path):
    r, path = _validate(cli, tmp_path, "serve:\n  listen: 0.0.0.0:8080\n")
    assert r.code == 2 and "listening beyond loopback needs a token" in r.err
    r, _ = _validate(cli, tmp_path, 'serve:\n  listen: "[::]:8080"\n  token: "${T}"\n',
                     env={"T": "0123456789abcdef0123"})
    assert r.code == 0, r


@pytest.mark.slow
def test_serve_listens_where_the_config_says(cli, tmp_path, db_path):
    path = tmp_path / "c.yaml"
    path.write_text("services:\n  web: {}\nserve:\n  listen: 127.0.0.1:0\n")
    assert cli("schedules", "apply", path).code == 0
    server = start(listen=None)  # the config's 127.0.0.1:0: a free port
    try:
        assert server.host == "127.0.0.1" and server.port != 0
        assert server.request("GET", "/healthz")[0] == 200
    finally:
        code, _ = server.stop()
    assert code == 0
