// strain's Lua API: the C functions scripts call, installed into a fresh Lua state.
#pragma once

namespace strain {

struct ScriptContext;

// Installs the API in ctx.L: core.* (the C half), the prelude (the Lua half, which builds
// http, check, group, metrics, json, data, vu and env on it), the C http.get/post/… and the
// response metatable. Throws strain::Error if the prelude fails to load (a build bug).
void install_api(ScriptContext& ctx);

}  // namespace strain
