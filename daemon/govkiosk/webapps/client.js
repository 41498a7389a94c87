/* govkiosk web-app bridge client, v1: served by the kiosk's bridge at /v1/client.js.
 * docs/webapps.md explains it; docs/bridge-reference.md lists the methods.
 *
 *   <script src="http://127.0.0.1:PORT/v1/client.js"></script>   (the port: see the docs)
 *   govkiosk.idcard.read({fields: ["name"]}).then(function (r) { ... });
 *
 * The launch URL's fragment carries "govkiosk-bridge=<port>.<token>". It is read once,
 * removed from the address with history.replaceState, and kept in this closure only. */
(function (global) {
  "use strict";
  var METHODS = /*METHODS*/[];
  var KEY = "govkiosk-bridge=";

  function takeFragment() {
    var parts = (global.location.hash || "").replace(/^#/, "").split("&");
    var value = null;
    var rest = [];
    parts.forEach(function (part) {
      if (value === null && part.indexOf(KEY) === 0) {
        value = part.slice(KEY.length);
      } else if (part) {
        rest.push(part);
      }
    });
    if (value === null) { return null; }
    global.history.replaceState(global.history.state, "",
      global.location.pathname + global.location.search + (rest.length ? "#" + rest.join("&") : ""));
    var dot = value.indexOf(".");
    if (dot < 1) { return null; }
    return { port: value.slice(0, dot), token: value.slice(dot + 1) };
  }

  var secret = takeFragment();

  function BridgeError(status, code, message) {
    this.name = "BridgeError";
    this.status = status;
    this.code = code;
    this.message = message;
  }
  BridgeError.prototype = Object.create(Error.prototype);
  BridgeError.prototype.constructor = BridgeError;

  function call(method, params) {
    if (!secret) {
      return Promise.reject(new BridgeError(0, "no_bridge", "not running in a kiosk session"));
    }
    return global.fetch("http://127.0.0.1:" + secret.port + "/v1/" + method, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      headers: { "Authorization": "Bearer " + secret.token, "Content-Type": "application/json" },
      body: JSON.stringify(params || {})
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = body && body.error ? body.error : { code: "http", message: "" };
          throw new BridgeError(response.status, error.code, error.message);
        }
        return body;
      });
    });
  }

  function camel(name) {
    return name.replace(/_([a-z])/g, function (_m, c) { return c.toUpperCase(); });
  }

  var api = { available: secret !== null, call: call, BridgeError: BridgeError, methods: METHODS };
  METHODS.forEach(function (name) {
    var dot = name.indexOf(".");
    var group = name.slice(0, dot);
    api[group] = api[group] || {};
    api[group][camel(name.slice(dot + 1))] = function (params) { return call(name, params); };
  });
  Object.keys(api).forEach(function (key) {
    if (typeof api[key] === "object" && key !== "methods") { Object.freeze(api[key]); }
  });
  Object.freeze(METHODS);
  Object.defineProperty(global, "govkiosk", { value: Object.freeze(api), writable: false });
})(window);
