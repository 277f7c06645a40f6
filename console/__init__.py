"""The TDS web console: server-rendered pages (Jinja2) in 中文 and English, with progressive enhancement.

- :mod:`console.web`: the page renderer (templates, message catalogs, locale formatting, the language
  cookie, security headers) and the static files (``console/static``: ``console.css``, ``console.js`` and
  ``vendor/tds-vendor.js``, the bundle of ethers and @openzeppelin/merkle-tree that ./scripts/bootstrap
  builds from package-lock.json).
- :mod:`console.charts`: charts and the lineage graph as inline SVG, drawn on the server (no JavaScript).

The gateway serves its provider's console under ``/console`` (``gateway.api.console``); ``tds console serve``
serves the operator's and auditor's pages over the audit index. Reading works with JavaScript off; what
needs a signature (a grant request, a download, a provider's decision) is signed in the browser, by an
injected wallet (``eth_signTypedData_v4``) or the dev wallet (a keystore file unlocked in the page). Keys
never reach a server.
"""
