"""The links feature's typed dependencies, provided by the app state (app.py)."""

from typing import Annotated

from fastapi import Depends, Request

from shortener.links.lookup import LinkLookup
from shortener.links.targets import TargetPolicy


async def get_target_policy(request: Request) -> TargetPolicy:
    return request.app.state.target_policy


async def get_link_lookup(request: Request) -> LinkLookup:
    return request.app.state.link_lookup


TargetPolicyDep = Annotated[TargetPolicy, Depends(get_target_policy)]
LinkLookupDep = Annotated[LinkLookup, Depends(get_link_lookup)]
