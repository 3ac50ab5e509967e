// Starts Swagger UI on /api/docs (api/shortener/apidocs/routes.py). A file of ours, not
// an inline script, so that the page's Content-Security-Policy allows scripts from this
// origin only. The options are FastAPI's defaults, but for the validator.
"use strict";

window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // Swagger UI would send the schema to validator.swagger.io for a badge: another origin.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
