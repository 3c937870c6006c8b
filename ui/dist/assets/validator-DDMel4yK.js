import{S as i}from"./index-Djyy8WZE.js";const n=o=>["",...i].includes(o);export{n as i};
