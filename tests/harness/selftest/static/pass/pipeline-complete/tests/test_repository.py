"""Integration tests: they run against PostgreSQL when DATABASE_URL is set, and are skipped otherwise."""

import os
import unittest


@unittest.skipUnless(os.environ.get("DATABASE_URL"), "DATABASE_URL is not set")
class RepositoryTest(unittest.TestCase):
    def test_connects(self) -> None:
        self.assertTrue(os.environ["DATABASE_URL"].startswith("postgresql://"))
