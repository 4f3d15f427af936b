"""Open file handles per host (`cat /proc/sys/fs/file-nr`)."""

import pytest

from opscheck import judge, measure


@pytest.mark.daily
@pytest.mark.medium
def test_file_handles(file_handles):
    judge(measure(file_handles))
