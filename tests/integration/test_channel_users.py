"""The deploy step's channel users (``deploy/topology.py``), against the
real broker: RabbitMQ's users are the broker's, not a virtual host's, so
provisioning one virtual host must not touch another's channel users."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pika
import pytest
from pika.exceptions import ProbableAuthenticationError

from clients.channel import ChannelClient, ChannelRefused
from deploy.topology import provision_channel_user
from tests.conftest import drop_vhost, make_vhost

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_vhosts():
    """Two virtual hosts of this test's own, as production and staging on one
    broker, and a user prefix of its own; the users made are deleted."""
    vhosts, prefix = (make_vhost("prod"), make_vhost("staging")), f"test-{uuid.uuid4().hex[:8]}"
    yield vhosts, prefix
    for channel in ("web", "app"):
        subprocess.run(["rabbitmqctl", "delete_user", f"{prefix}-{channel}"], capture_output=True)
    for vhost in vhosts:
        drop_vhost(vhost)


def logs_in(user: str, password: str, vhost: str) -> bool:
    try:
        pika.BlockingConnection(pika.URLParameters(
            f"amqp://{user}:{password}@127.0.0.1:5672/{vhost}")).close()
        return True
    except ProbableAuthenticationError:
        return False


def permitted_vhosts(user: str) -> set[str]:
    listed = subprocess.run(["rabbitmqctl", "-q", "list_user_permissions", "--no-table-headers",
                             user], capture_output=True, text=True, check=True).stdout
    return {line.split("\t")[0] for line in listed.splitlines()}


def deploy_step(vhost: str, **settings: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **settings,
           "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"}
    return subprocess.run([sys.executable, "-m", "deploy.topology"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_second_virtual_host_s_deploy_step_leaves_the_first_s_channel_users_alone(
        two_vhosts):
    """Provisioning staging re-passworded production's channel users and gave
    them staging's permissions too: production's password stopped working
    and staging's opened production's channel (outside audit). Now it stops,
    naming the user and the other virtual host, and changes nothing."""
    (production, staging), prefix = two_vhosts
    user = f"{prefix}-web"
    provision_channel_user(production, user, "production-secret", "web")

    done = deploy_step(staging, CHANNEL_USER_PREFIX=prefix,
                       CHANNEL_PASSWORDS="app=staging-app,web=staging-secret")
    assert done.returncode != 0
    assert user in done.stderr and production in done.stderr
    assert "secret" not in done.stderr + done.stdout and "declared" not in done.stdout
    assert logs_in(user, "production-secret", production)
    assert not logs_in(user, "staging-secret", production)
    assert permitted_vhosts(user) == {production}
    assert subprocess.run(["rabbitmqctl", "list_user_permissions", f"{prefix}-app"],
                          capture_output=True).returncode != 0  # not created either

    with pytest.raises(SystemExit) as refused:  # nor through the function itself
        provision_channel_user(staging, user, "staging-secret", "web")
    assert user in str(refused.value.code) and production in str(refused.value.code)
    assert permitted_vhosts(user) == {production}


def test_each_virtual_host_gets_channel_users_of_its_own_prefix(two_vhosts):
    (production, staging), prefix = two_vhosts
    provision_channel_user(production, f"{prefix}-web", "production-secret", "web")
    provision_channel_user(production, f"{prefix}-web", "new-secret", "web")  # its own: again
    assert logs_in(f"{prefix}-web", "new-secret", production)

    staging_prefix = f"{prefix}-staging"
    try:
        done = deploy_step(staging, CHANNEL_USER_PREFIX=staging_prefix,
                           CHANNEL_PASSWORDS="web=staging-secret")
        assert done.returncode == 0, done.stderr
        assert f"channel user {staging_prefix}-web" in done.stdout
        assert permitted_vhosts(f"{staging_prefix}-web") == {staging}
        assert logs_in(f"{prefix}-web", "new-secret", production)
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", f"{staging_prefix}-web"],
                       capture_output=True)


def test_the_channel_client_names_a_refused_password_or_virtual_host(two_vhosts):
    """``ChannelClient(...)`` with a wrong password or virtual host raised
    pika's ``ProbableAuthenticationError`` / ``ProbableAccessDeniedError``,
    which docs/channel-api.md did not name (outside audit): now the client's
    own ``ChannelRefused``, saying which, without the password."""
    (production, staging), prefix = two_vhosts
    user = f"{prefix}-web"
    provision_channel_user(production, user, "production-secret", "web")

    def url(password: str, vhost: str) -> str:
        return f"amqp://{user}:{password}@127.0.0.1:5672/{vhost}"
    for password, vhost, cause in [("wrong-secret", production, "credentials"),
                                   ("production-secret", staging, "virtual_host"),
                                   ("production-secret", f"{production}-none", "virtual_host")]:
        with pytest.raises(ChannelRefused) as refused:
            ChannelClient(url(password, vhost), "web")
        assert refused.value.cause == cause and "secret" not in str(refused.value)
    ChannelClient(url("production-secret", production), "web").close()


def test_channel_users_are_not_made_on_a_node_that_is_not_the_uri_s_broker(two_vhosts):
    """Outside audit K: ``rabbitmqctl`` reached this machine's node while
    AMQP_URI named another broker (here: another port), and the users were
    made there."""
    (production, _), prefix = two_vhosts
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHANNEL_PASSWORDS": "web=pw-one",
           "CHANNEL_USER_PREFIX": prefix,
           "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5699/{production}"}
    done = subprocess.run([sys.executable, "-m", "deploy.topology"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "5699" in done.stderr and "RABBITMQCTL_NODE" in done.stderr, done.stderr
    assert not logs_in(f"{prefix}-web", "pw-one", production)
    # the node named outright, and it is the URI's broker: provisioned
    named = deploy_step(production, CHANNEL_PASSWORDS="web=pw-one", CHANNEL_USER_PREFIX=prefix,
                        RABBITMQCTL_NODE="rabbit@localhost")
    assert named.returncode == 0, named.stderr
    assert logs_in(f"{prefix}-web", "pw-one", production)
