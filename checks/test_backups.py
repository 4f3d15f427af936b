"""Backups: newest age, count, retention, size and integrity daily; restore and extraction drills quarterly."""

import pytest

from opscheck import judge, measure


@pytest.mark.daily
@pytest.mark.high
def test_backup_age(backup_age):
    judge(measure(backup_age))


@pytest.mark.daily
@pytest.mark.high
def test_backup_count(backup_count):
    judge(measure(backup_count))


@pytest.mark.daily
@pytest.mark.medium
def test_backup_retention(backup_retention):
    judge(measure(backup_retention))


@pytest.mark.daily
@pytest.mark.high
def test_backup_size(backup_size):
    judge(measure(backup_size))


@pytest.mark.daily
@pytest.mark.critical
def test_backup_integrity(backup_integrity):
    judge(measure(backup_integrity))


@pytest.mark.quarterly
@pytest.mark.critical
def test_restore_drill(restore_drill):
    judge(measure(restore_drill))


@pytest.mark.quarterly
@pytest.mark.high
def test_config_extract(config_extract):
    judge(measure(config_extract))
