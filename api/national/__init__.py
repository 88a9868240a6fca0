"""The national healthcare security platform's shapes (医疗保障信息平台): the 2207 ``setlinfo``
and ``setldetail`` the REST answers carry too, and ``POST /his/v1/national``, where an HIS's
existing insurance client calls Shuxin by ``infno`` (2201 … 5203) in the national envelope.

Translation only: every call goes to the same settlement services as the REST API.
"""
