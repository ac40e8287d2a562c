"""kombu's filesystem transport, made safe for several processes on one folder (the embedded default).

kombu 5.7.0 creates a message file and only then writes it, so a consumer polling an almost empty
queue can take the file while it is still empty and the worker dies ("Unrecoverable error:
JSONDecodeError('Expecting value: line 1 column 1 (char 0)')", kombu #1551, dvc-task #73; reproduced
in tests/integration/test_embedded_default.py). Its exchange files are truncated before they are
locked, with the same result for a reader, and a taken message is moved to the system temp folder,
which is a copy, not an atomic rename, when that folder is on another file system.

Here every file appears whole (written under a temporary name, then renamed), a consumer claims a
message by renaming it inside the queue folder (exactly one consumer wins), and an exchange file
is created whole and rewritten under its lock. A message that still cannot be read is logged and
dropped instead of killing the worker: Okno's due work lives in database rows, and the dispatcher
hands a lost wake-up out again.
"""

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)


def _write_whole(path, data):
    """Write `data` to a temporary name beside `path`; return that name (never matches a queue)."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.part")
    with open(tmp, "wb") as f:
        f.write(data)
    return tmp


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            os.replace(_write_whole(path, str_to_bytes(dumps(payload))), path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc

    def _get(self, queue):
        queue_find = f"{queue}.msg"
        claimed = os.path.join(self.data_folder_in, ".claimed")
        os.makedirs(claimed, exist_ok=True)
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != queue_find:
                continue
            path = os.path.join(claimed, filename)
            try:
                # A rename inside one folder tree is atomic: one consumer gets the file, the others miss it.
                os.rename(os.path.join(self.data_folder_in, filename), path)
            except OSError:
                continue
            try:
                with open(path, "rb") as f:
                    payload = f.read()
                if self.store_processed:
                    os.replace(path, os.path.join(self.processed_folder, filename))
                else:
                    os.remove(path)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            try:
                return loads(bytes_to_str(payload))
            except ValueError:
                logger.error("Dropped an unreadable broker message %s (%d bytes)", filename, len(payload))
                continue
        raise filesystem.Empty()

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            with file.open("rb") as f:
                filesystem.lock(f, filesystem.LOCK_SH)
                try:
                    data = f.read()
                finally:
                    filesystem.unlock(f)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        return [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(data))]

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        queue_val = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            if not file.exists():
                tmp = _write_whole(str(file), str_to_bytes(dumps([queue_val])))
                try:
                    os.link(tmp, file)  # creates the file whole, or fails if another process was first
                    return
                except FileExistsError:
                    pass
                finally:
                    os.remove(tmp)
            with file.open("rb+", buffering=0) as f:
                filesystem.lock(f, filesystem.LOCK_EX)
                try:
                    queues = [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(f.read()))]
                    if queue_val not in queues:
                        queues.insert(0, queue_val)
                        f.seek(0)
                        f.write(str_to_bytes(dumps(queues)))
                        f.truncate()
                finally:
                    filesystem.unlock(f)
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc


def install():
    """Make every `filesystem://` connection of this process use the safe channel."""
    filesystem.Transport.Channel = Channel
