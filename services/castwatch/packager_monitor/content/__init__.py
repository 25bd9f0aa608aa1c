"""The probe's content layer: what the decoded pictures and sounds say (issue #14).

``analyze`` decodes one segment in a worker process (PyAV) and returns plain numbers;
``loudness`` is the ITU-R BS.1770-4 meter; ``p1203`` the P.1203.1 mode 0 video MOS;
``runs`` and ``state`` turn per-segment figures into conditions over time on the event loop;
``pool`` keeps the decoding off the poll loop behind a bounded queue.
"""
