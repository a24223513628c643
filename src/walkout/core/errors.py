"""The exception tree of walkout.

::

    WalkoutError                  base of everything walkout raises on purpose
    ├── StoreFileError            a store file / AiFi store_meta file is missing or invalid
    ├── RecordingError            a recording is missing, truncated or malformed
    ├── GroundTruthError          a ground-truth file (AiFi or walkout format) is invalid
    ├── StorageError              the database refused an operation (rolled back)
    ├── PaymentError              the payment provider declined or failed a charge or refund
    ├── MailError                 an e-mail could not be handed to the mail server
    ├── BrokerUnavailable         the MQTT broker refused or did not answer (also a ConnectionError)
    └── OperationError            a store operation was refused (unknown receipt, bad dispute, ...)

Every error names the file, field or message it is about, so the CLI can print it as one line.
"""

from __future__ import annotations


class WalkoutError(Exception):
    """Base class of every error walkout raises on purpose."""


class StoreFileError(WalkoutError):
    """A store description (walkout store file or AiFi store_meta) is missing or invalid."""


class RecordingError(WalkoutError):
    """A recording directory or one of its streams is missing, truncated or malformed."""


class GroundTruthError(WalkoutError):
    """A ground-truth file (AiFi ``ground_truth_*.json`` or walkout ``truth.json``) is invalid."""


class StorageError(WalkoutError):
    """A database operation failed; the transaction was rolled back."""


class PaymentError(WalkoutError):
    """The payment provider declined or could not execute a charge or refund."""


class MailError(WalkoutError):
    """An e-mail could not be handed to the mail server (connection, refusal, timeout)."""


class OperationError(WalkoutError):
    """A store operation was refused: unknown receipt or line, a dispute over what was never charged, ..."""


class BrokerUnavailable(WalkoutError, ConnectionError):
    """The MQTT broker refused or did not answer a connection (host, port and reason in the message)."""
