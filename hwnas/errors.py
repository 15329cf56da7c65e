"""The one exception tree of hwnas.

Every error a user can hit is a subclass of :class:`HwnasError`. Its message is a
single paragraph that names the problem and says what to do about it; the CLI
prints it without a traceback and exits with :attr:`HwnasError.exit_code`.
Anything else that escapes is a bug in hwnas and keeps its traceback.
"""

from __future__ import annotations


class HwnasError(Exception):
    """Base of every error hwnas reports to a user."""

    exit_code: int = 1
    #: A short, stable name used in ``--json`` error objects.
    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.kind, "message": self.message}


class UsageError(HwnasError):
    """A command-line argument or option is wrong."""

    exit_code = 2
    kind = "usage"


class ParameterError(UsageError, ValueError):
    """A Python argument of a library call is wrong. The message names the parameter as
    the caller wrote it (``population must be >= 4, got 2``); the CLI rewrites the name
    as its option (``--population``) through :attr:`param`. Also a ``ValueError``.
    """

    kind = "usage"

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"{param} {problem}")
        self.param = param
        self.problem = problem

    def as_option(self, option: str | None = None) -> UsageError:
        """The same error as the CLI says it: ``--population must be >= 4, got 2``."""
        flag = option or "--" + self.param.replace("_", "-")
        return UsageError(f"{flag} {self.problem}")


class ModelError(HwnasError):
    """Something is wrong with a model file."""

    exit_code = 2
    kind = "model"


class ModelNotFoundError(ModelError):
    kind = "model_not_found"


class InvalidModelError(ModelError):
    """The file is not a valid ONNX model (not protobuf, truncated, fails the checker)."""

    kind = "invalid_model"


class ModelLoadError(ModelError):
    """onnxruntime could not load or run the model."""

    kind = "model_load"


class ShapeError(ModelError):
    """An input shape is missing (dynamic dimension) or a ``--shape`` is wrong."""

    kind = "shape"


class DeviceError(HwnasError):
    """A device is unknown, unreachable or misbehaves."""

    kind = "device"


class UnknownDeviceError(DeviceError):
    exit_code = 2
    kind = "unknown_device"


class RunnerError(DeviceError):
    """The on-device runner failed in a way that is not the model's fault."""

    kind = "runner"


class ConnectionLostError(DeviceError):
    """The link to a device failed or dropped (not the model's fault): reconnect and retry."""

    kind = "connection_lost"


class UnreachableError(ConnectionLostError):
    """The device could not be reached at all (address, port, network, device off)."""

    kind = "unreachable"


class DeviceFullError(DeviceError):
    """The device has no room for a file hwnas must send (its disk is full): no model
    can be measured there until space is freed."""

    kind = "device_full"


class TableDeviceError(DeviceError):
    """A table device cannot measure: its table file is gone or no longer readable, or it
    was asked for architectures of another space than the one its table holds."""

    exit_code = 2
    kind = "table_device"


class NotInTableError(ModelError):
    """A table device has no value for one job: an architecture its table lacks, or a
    model file (a table device measures architectures of its space only)."""

    kind = "not_in_table"


class HostKeyError(DeviceError):
    """The device's SSH host key is unknown or changed: never connect silently."""

    exit_code = 2
    kind = "host_key"


class AuthenticationError(DeviceError):
    """The device refused our credentials."""

    exit_code = 2
    kind = "authentication"


class StoreError(HwnasError):
    """The measurement store cannot be opened, written or migrated."""

    kind = "store"


class LeaseLostError(StoreError):
    """A worker no longer holds the lease of the device whose job it ran (its heartbeat
    stopped for longer than the lease and another worker took the device): what it
    measured is not stored, as the job went back to the queue."""

    kind = "lease_lost"


class ConfigError(HwnasError):
    """A configuration file (for example devices.toml) is malformed."""

    exit_code = 2
    kind = "config"


class DataError(HwnasError):
    """A record or table does not have the expected fields or values."""

    exit_code = 2
    kind = "data"


class ProfileError(HwnasError):
    """Some profiling jobs failed (``hwnas.profile(..., errors="raise")``).

    The message names the failures; :attr:`result` holds everything the run did (a
    ``ProfileResult``: the measurements, which are already stored, and each failure).
    """

    kind = "profile"

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result


class ExportError(HwnasError):
    """A search space's module could not be exported to ONNX (torch's exporter failed)."""

    kind = "export"


class ExecutorError(HwnasError):
    """Work cannot be sent where it was asked to run: the Dask package is missing, the
    scheduler is unreachable, or ``--executor`` is not an executor's address."""

    exit_code = 2
    kind = "executor"


# -- search spaces ------------------------------------------------------------------


class SpaceError(HwnasError):
    """An unknown space, or a space that breaks the contract."""

    exit_code = 2
    kind = "space"


class InvalidArchError(HwnasError):
    """An architecture string or vector that is not in the space."""

    exit_code = 2
    kind = "invalid_arch"


class ContractError(SpaceError):
    """A space that breaks the contract; the message names the check and what to fix."""

    kind = "space_contract"


# -- predictors -----------------------------------------------------------------------


class PredictorError(HwnasError):
    """A predictor cannot be trained, loaded or used as asked."""

    exit_code = 2
    kind = "predictor"


class ArtifactError(PredictorError):
    """A predictor directory is missing, incomplete, tampered with or does not match."""

    kind = "predictor_artifact"


class NotFittedError(PredictorError, ValueError, AttributeError):
    """A predictor was used before ``fit`` (scikit-learn's ``NotFittedError`` contract:
    also a ``ValueError`` and an ``AttributeError``)."""

    kind = "not_fitted"


class UnknownKindError(PredictorError):
    """No predictor class is registered under a kind (built in, registered with
    ``register_predictor`` or through the entry point group ``hwnas.predictors``)."""

    kind = "unknown_predictor_kind"


class LookupTableError(PredictorError):
    """A lookup table cannot be built, read or used as asked."""

    kind = "lookup_table"


class PredictorContractError(PredictorError):
    """A predictor class that breaks the predictor contract (``hwnas.predictors.contract``);
    the message names the check and what to fix."""

    kind = "predictor_contract"


# -- search ---------------------------------------------------------------------------


class AccuracyError(HwnasError):
    """An accuracy source that cannot serve this space or returned nonsense."""

    exit_code = 2
    kind = "accuracy"
